// Where the store lives, as an operator writes it (`serve --store`, `site.store`): absent, SQLite
// in the state directory; a `postgresql://` URL (libpq's form), a PostgreSQL database. The URL is
// checked here without connecting (so `validate` can judge it offline), and shown only with its
// password masked: a URL may carry one, and no log line, error or event may.

const SCHEMES = ['postgresql:', 'postgres:'];
const FORM = 'postgresql://USER@HOST[:PORT]/DATABASE';

/** Why `text` is not a PostgreSQL URL Rackhand can use; undefined when it is one. Never echoes the text. */
export function storeUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `not a URL: use ${FORM} (leave it out for SQLite in the state directory)`;
  }
  if (!SCHEMES.includes(url.protocol)) return `${url.protocol}// is not a store Rackhand knows: use ${FORM} (leave it out for SQLite in the state directory)`;
  if (url.hash) return 'a PostgreSQL URL has no #fragment';
  let database: string;
  try {
    database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  } catch {
    return 'the database name is not valid percent-encoding';
  }
  if (database.includes('/')) return `the path is the database name, one segment: ${FORM}`;
  return undefined;
}

/** The URL with its password (in the user part or a `password=` parameter) masked, for logs and errors. */
export function redactStoreUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return '(not a URL)';
  }
  if (url.password) url.password = '***';
  if (url.searchParams.has('password')) url.searchParams.set('password', '***');
  return url.toString();
}

/** True when the URL itself carries a password (rather than PGPASSWORD or ~/.pgpass). */
export function storeUrlHasPassword(text: string): boolean {
  try {
    const url = new URL(text);
    return url.password !== '' || url.searchParams.has('password');
  } catch {
    return false;
  }
}
