// Worker threads do not inherit the TypeScript loader that tsx registered on the main
// thread, so when running from source the thread registers it before loading the
// TypeScript entry. A compiled build starts train-thread.js directly.
import { register } from 'tsx/esm/api';

register();
await import('./train-thread.ts');
