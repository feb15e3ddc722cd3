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
export { ELF_HEAD_BYTES, cleanMachine, userlandOfElf } from './arch.js';
export {
  DETECTION_THRESHOLD,
  MAX_CONTENT,
  SOURCE_PATHS,
  detectBestProfile,
  detectProfile,
  directoryProbe,
  readHead,
  type DetectOptions,
  type DirectoryProbeOptions,
  type DetectionMatch,
  type ProbeFileSystem,
} from './detect.js';
export { ADAPTERS_FILE, listSerialPorts, loadUsbSerialAdapters, type ListPortsOptions, type SerialPortInfo, type UsbSerialAdapter } from './ports.js';
export { MAX_SHELL_READ, ShellProbe, probeOverShell, shellQuote, type ByteLine, type ShellProbeOptions } from './shell-probe.js';
export { cpuArchOf, resolveProfile, type ProfileChoice, type ResolveProfileOptions, type ResolvedProfile } from './resolve.js';
export type { DeviceProfile } from '@akb/protocol';
export { SYSTEMD_UNITS, renderSystemdTemplate, renderSystemdUnit, systemdTemplateDir, systemdValues, type SystemdUnitName } from './systemd.js';
