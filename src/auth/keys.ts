// API keys: random, shown once, stored as a sha256 hash, checked from memory. A key's hash
// is what is looked up, so nothing about the key itself can leak through timing; the
// bootstrap ADMIN_API_KEY is compared in constant time. Every process reloads the keys in
// force every KEY_REFRESH_MS, so a revocation reaches all of them within seconds.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { withTx, type Db } from '../db/pool.js';
import { activeApiKeys, countApiKeys, insertApiKey, revokeApiKey, type ApiKeyRow } from '../db/api-keys.js';

export const SCOPES = ['read', 'write', 'admin', 'metrics'] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is calling: what a request carries once its key is checked. */
export interface Principal {
  keyId: string;
  scopes: ReadonlySet<Scope>;
  spaces: ReadonlySet<string> | null;
}

export const hashKey = (key: string): string => crypto.createHash('sha256').update(key).digest('hex');
export const newKey = (): string => `efk_${crypto.randomBytes(32).toString('base64url')}`;

export interface KeyLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export class KeyStore {
  private byHash = new Map<string, Principal>();
  private timer: NodeJS.Timeout | null = null;
  private readonly adminHash: Buffer | null;

  constructor(
    private db: Db,
    adminKey: string | undefined,
    private log: KeyLog,
    private refreshMs = 2000,
  ) {
    this.adminHash = adminKey ? Buffer.from(hashKey(adminKey), 'hex') : null;
  }

  async start(): Promise<void> {
    await this.reload();
    this.timer = setInterval(() => {
      this.reload().catch((err: Error) => this.log.warn({ err: err.message }, 'API keys not reloaded; the ones in memory stay in force'));
    }, this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async reload(): Promise<void> {
    const rows = await activeApiKeys(this.db);
    this.byHash = new Map(rows.map((r) => [r.keyHash, principalOf(r)]));
  }

  /** The principal of a presented key, or null. */
  check(key: string): Principal | null {
    return this.checkHash(hashKey(key));
  }

  /**
   * The keys in force, as a token that changes whenever they are reloaded: a principal found
   * while it is current is still what that key may do (auth.ts keeps one per connection).
   */
  get generation(): object {
    return this.byHash;
  }

  /** The principal of a key by its hash (hashKey), or null: what is in force now, revocations included. */
  checkHash(h: string): Principal | null {
    if (this.adminHash && crypto.timingSafeEqual(Buffer.from(h, 'hex'), this.adminHash)) return ADMIN;
    return this.byHash.get(h) ?? null;
  }

  async create(opts: {
    name?: string | undefined;
    scopes: Scope[];
    spaces?: string[] | undefined;
  }): Promise<{ row: ApiKeyRow; key: string }> {
    const key = newKey();
    const row = await insertApiKey(this.db, {
      id: crypto.randomUUID(),
      name: opts.name ?? null,
      keyHash: hashKey(key),
      scopes: [...new Set(opts.scopes)],
      spaces: opts.spaces ? [...new Set(opts.spaces)] : null,
    });
    await this.reload();
    return { row, key };
  }

  async revoke(id: string): Promise<boolean> {
    const gone = await revokeApiKey(this.db, id);
    if (gone) await this.reload();
    return gone;
  }

  list(): Promise<ApiKeyRow[]> {
    return activeApiKeys(this.db);
  }

  /**
   * First start without ADMIN_API_KEY and without any key: makes an admin key and writes it
   * to `file` (mode 0600), so the operator can read it once; the log names the file, never
   * the key. Several processes starting together make one key (an advisory lock).
   */
  async bootstrap(file: string): Promise<boolean> {
    if (this.adminHash) return false;
    const made = await withTx(this.db, async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(7726432)');
      if ((await countApiKeys(tx)) > 0) return null;
      const key = newKey();
      await insertApiKey(tx, { id: crypto.randomUUID(), name: 'bootstrap admin', keyHash: hashKey(key), scopes: ['admin'], spaces: null });
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, `${key}\n`, { mode: 0o600 });
      return key;
    });
    if (!made) return false;
    await this.reload();
    this.log.info({ file }, 'created an admin API key (no ADMIN_API_KEY was set and no key existed); read it from this file');
    return true;
  }
}

const ADMIN: Principal = { keyId: 'ADMIN_API_KEY', scopes: new Set(SCOPES), spaces: null };

function principalOf(r: ApiKeyRow): Principal {
  return { keyId: r.id, scopes: new Set(r.scopes as Scope[]), spaces: r.spaces ? new Set(r.spaces) : null };
}

/** admin may do everything; metrics is also admin's. */
export function allows(p: Principal, scope: Scope): boolean {
  return p.scopes.has('admin') || p.scopes.has(scope);
}

export function mayUseSpace(p: Principal, space: string): boolean {
  return p.spaces === null || p.spaces.has(space);
}
