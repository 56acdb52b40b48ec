export { OverviewPage } from './components/OverviewPage.js';
