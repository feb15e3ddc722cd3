export {
  PROFILE_SUFFIX,
  ProfileCatalogue,
  getProfile,
  loadProfiles,
  packageRoot,
  readProfile,
  type CatalogueEntry,
} from './catalogue.js';
export {
  DETECTION_THRESHOLD,
  SOURCE_PATHS,
  detectBestProfile,
  detectProfile,
  directoryProbe,
  type DetectOptions,
  type DetectionMatch,
  type ProbeFileSystem,
} from './detect.js';
export type { DeviceProfile } from '@akb/protocol';
