export { AlertsPage } from './AlertsPage.js';
