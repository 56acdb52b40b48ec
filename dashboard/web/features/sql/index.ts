export { SqlPage } from './components/SqlPage.js';
