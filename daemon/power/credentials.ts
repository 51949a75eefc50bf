// BMC passwords come from an environment variable or a file, read at call time (a rotated file
// takes effect on the next call, no restart). Errors name the variable or the file, never a value.
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { PowerError } from './errors.js';

export interface PasswordSource {
  password_env?: string;
  password_file?: string;
}

export interface CredentialOptions {
  /** Defaults to process.env; tests pass their own. */
  env?: NodeJS.ProcessEnv;
  /** Relative password files are resolved against this (the inventory's folder). */
  baseDir?: string;
}

export async function loadPassword(machine: string, src: PasswordSource, opts: CredentialOptions = {}): Promise<string> {
  if (src.password_env !== undefined && src.password_file !== undefined) {
    throw new PowerError('CONFIG', machine, 'credentials', 'give password_env or password_file, not both');
  }
  if (src.password_env !== undefined) {
    const value = (opts.env ?? process.env)[src.password_env];
    if (value === undefined || value === '') {
      throw new PowerError('CONFIG', machine, 'credentials', `environment variable ${src.password_env} (password_env) is not set or empty`);
    }
    return value;
  }
  if (src.password_file !== undefined) {
    const path = isAbsolute(src.password_file) ? src.password_file : resolve(opts.baseDir ?? process.cwd(), src.password_file);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable by this process' : `cannot be read (${code})`;
      throw new PowerError('CONFIG', machine, 'credentials', `password_file ${path} ${why}`);
    }
    // One trailing newline is an editor's, not the password's.
    const value = text.replace(/\r?\n$/, '');
    if (value === '') throw new PowerError('CONFIG', machine, 'credentials', `password_file ${path} is empty`);
    return value;
  }
  throw new PowerError('CONFIG', machine, 'credentials', 'no password_env or password_file in the power section');
}
