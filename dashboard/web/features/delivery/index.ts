export { DeliveryPage } from './DeliveryPage.js';
