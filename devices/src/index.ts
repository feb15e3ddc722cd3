export {
  GENERIC_FAMILY,
  PROFILE_SUFFIX,
  ProfileCatalogue,
  familyOf,
  getProfile,
  isGeneric,
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
export { cpuArchOf, resolveProfile, type ProfileChoice, type ResolveProfileOptions, type ResolvedProfile } from './resolve.js';
export type { DeviceProfile } from '@akb/protocol';
