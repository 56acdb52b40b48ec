export { MetricsPage } from './components/MetricsPage.js';
