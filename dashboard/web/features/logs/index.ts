export { LogsPage } from './components/LogsPage.js';
