export { CloudService, type CloudServiceOptions } from './service.js';
export { FleetRegistry, type FleetEntry } from './fleet.js';
