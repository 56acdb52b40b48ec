/**
 * Where a page asks for a credential. The form lives with the login feature (a session cookie
 * made from the token); this name stays for the pages that show it.
 */
export { LoginForm as TokenForm } from '../features/login/LoginForm.js';
