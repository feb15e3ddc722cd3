/** The web dashboard (`akb-cloud --http`): server, live feed, and the feeds that fill the hub with jobs and images. */
export { startDashboard, type Dashboard, type DashboardOptions, type DashboardStats, type MetricsSource } from './server.js';
export type { LiveOptions, LiveStats } from './live.js';
export type { DeviceView, ImageView, LiveMessage, WireEvent } from './views.js';
export { feedImages, startFeeds, watchOtaJobs, type Feed, type FeedCounters } from './feeds.js';
export { thumbnail, THUMBNAIL_SIDE } from './thumbnail.js';
