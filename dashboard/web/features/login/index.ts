export { LoginForm } from './LoginForm.js';
export { login, logout, type LoginResult } from './api.js';
