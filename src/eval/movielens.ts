// Loaders for the MovieLens-100k files (read from the --data dir, never copied into the repo).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Rating {
  user: number;
  item: number;
  rating: number;
  ts: number;
  order: number;
}
export interface Movie {
  id: number;
  title: string;
  year: number | null;
  genres: string[];
}
export interface User {
  id: number;
  age: number;
  gender: string;
  occupation: string;
  zip: string;
}
export interface MovieLens {
  ratings: Rating[];
  movies: Movie[];
  users: User[];
  genreNames: string[];
}

/** u.item and u.genre are Latin-1 (e.g. "Misérables"); reading them as UTF-8 would break the title join. */
function lines(path: string, enc: BufferEncoding): string[] {
  return readFileSync(path, enc)
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.length > 0);
}

function titleYear(title: string, releaseDate = ''): number | null {
  const m = /\((\d{4})\)\s*$/.exec(title) ?? /(\d{4})$/.exec(releaseDate);
  return m ? Number(m[1]) : null;
}

export function loadMl100k(dir: string): MovieLens {
  const d = join(dir, 'ml-100k');
  const genreNames: string[] = [];
  for (const l of lines(join(d, 'u.genre'), 'latin1')) {
    const [name, idx] = l.split('|');
    if (name !== undefined && idx !== undefined) genreNames[Number(idx)] = name;
  }
  const movies: Movie[] = lines(join(d, 'u.item'), 'latin1').map((l) => {
    const f = l.split('|');
    const flags = f.slice(5);
    const title = f[1] ?? '';
    return {
      id: Number(f[0]),
      title,
      year: titleYear(title, f[2] ?? ''),
      genres: flags.map((v, i) => (v === '1' ? (genreNames[i] ?? '') : '')).filter((g) => g && g !== 'unknown'),
    };
  });
  const users: User[] = lines(join(d, 'u.user'), 'latin1').map((l) => {
    const [id, age, gender, occupation, zip] = l.split('|');
    return { id: Number(id), age: Number(age), gender: gender ?? '', occupation: occupation ?? '', zip: zip ?? '' };
  });
  const ratings: Rating[] = lines(join(d, 'u.data'), 'latin1').map((l, order) => {
    const [u, i, r, t] = l.split('\t');
    return { user: Number(u), item: Number(i), rating: Number(r), ts: Number(t), order };
  });
  return { ratings, movies, users, genreNames };
}
