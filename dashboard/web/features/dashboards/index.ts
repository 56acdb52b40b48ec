export { DashboardsPage } from './DashboardsPage.js';
