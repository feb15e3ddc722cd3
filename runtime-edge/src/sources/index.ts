/** Image sources: a folder, a watched folder, MQTT ingest; and the pump that sends what they yield. */
export { IMAGE_FILE, ImageQueue, type ImageOutcome, type ImageSource, type SourceImage, type SourceStats } from './source.js';
export { DirectorySource } from './directory.js';
export { WatchSource, type WatchSourceOptions } from './watch.js';
export { IMAGE_SEND_OP, IngestSource } from './ingest.js';
export { pumpImages, type ImageSink, type PumpOptions, type PumpStats } from './pump.js';
