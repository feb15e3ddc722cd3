/**
 * A check of SigMF metadata against the core namespace of the SigMF specification (v1.x), written from the
 * specification since no package ships its JSON Schema: the top level holds exactly `global`, `captures` and
 * `annotations`; `global` needs `core:datatype` (grammar `(r|c)(f32|f64|i32|i16|u32|u16)(_le|_be)` or
 * `(r|c)(i8|u8)`) and `core:version`; captures and annotations need `core:sample_start` and are sorted by
 * it; every core field present has its type. With the data file's size, it also checks that the data is
 * whole samples and that annotations end inside it. Returns the problems found (none: valid); never throws,
 * whatever the value (a BigInt or a cycle is named by its type), and quotes a bad value in at most 80 characters.
 */

const DATATYPE = /^(r|c)((f32|f64|i32|i16|u32|u16)(_le|_be)|i8|u8)$/;
const SEMVER = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

type Kind = 'string' | 'number' | 'uint' | 'positive' | 'bool' | 'object' | 'array' | 'datetime';

const GLOBAL: Record<string, Kind> = {
  'core:datatype': 'string', 'core:version': 'string', 'core:sample_rate': 'positive', 'core:num_channels': 'uint',
  'core:sha512': 'string', 'core:offset': 'uint', 'core:description': 'string', 'core:author': 'string',
  'core:meta_doi': 'string', 'core:data_doi': 'string', 'core:recorder': 'string', 'core:license': 'string',
  'core:hw': 'string', 'core:dataset': 'string', 'core:trailing_bytes': 'uint', 'core:metadata_only': 'bool',
  'core:geolocation': 'object', 'core:extensions': 'array', 'core:collection': 'string',
};
const CAPTURE: Record<string, Kind> = {
  'core:sample_start': 'uint', 'core:global_index': 'uint', 'core:header_bytes': 'uint', 'core:frequency': 'number', 'core:datetime': 'datetime',
};
const ANNOTATION: Record<string, Kind> = {
  'core:sample_start': 'uint', 'core:sample_count': 'uint', 'core:generator': 'string', 'core:label': 'string',
  'core:comment': 'string', 'core:freq_lower_edge': 'number', 'core:freq_upper_edge': 'number', 'core:uuid': 'string',
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fits(v: unknown, kind: Kind): boolean {
  switch (kind) {
    case 'string':
      return typeof v === 'string';
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'uint':
      return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
    case 'positive':
      return typeof v === 'number' && Number.isFinite(v) && v > 0;
    case 'bool':
      return typeof v === 'boolean';
    case 'object':
      return isObject(v);
    case 'array':
      return Array.isArray(v);
    case 'datetime':
      return typeof v === 'string' && DATETIME.test(v);
  }
}

/** A value as a problem quotes it: JSON, at most 80 characters; a value JSON cannot write (a BigInt, a cycle) by its type. */
function shown(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  if (text === undefined) return `a ${typeof value}`;
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function checkFields(where: string, o: Record<string, unknown>, types: Record<string, Kind>, problems: string[]): void {
  for (const [key, value] of Object.entries(o)) {
    const kind = types[key];
    if (kind === undefined) {
      if (key.startsWith('core:')) problems.push(`${where}: ${key} is not a core field`);
      continue;
    }
    if (!fits(value, kind)) problems.push(`${where}: ${key} must be ${kind === 'datetime' ? 'an ISO-8601 UTC date-time string' : `a ${kind}`}, not ${shown(value)}`);
  }
}

/** Bytes per sample of a valid datatype (all channels of one sample: times num_channels). */
export function sigmfSampleBytes(datatype: string): number {
  const m = DATATYPE.exec(datatype);
  if (!m) return 0;
  const width = datatype.includes('64') ? 8 : datatype.includes('32') ? 4 : datatype.includes('16') ? 2 : 1;
  return (m[1] === 'c' ? 2 : 1) * width;
}

function checkSorted(where: string, list: Record<string, unknown>[], problems: string[]): void {
  for (let i = 1; i < list.length; i++) {
    const a = list[i - 1]!['core:sample_start'];
    const b = list[i]!['core:sample_start'];
    if (typeof a === 'number' && typeof b === 'number' && b < a) problems.push(`${where}[${i}]: not sorted by core:sample_start (${b} after ${a})`);
  }
}

export function checkSigmfMeta(meta: unknown, dataBytes?: number): string[] {
  const problems: string[] = [];
  if (!isObject(meta)) return ['the metadata is not a JSON object'];
  const keys = Object.keys(meta).sort().join(',');
  if (keys !== 'annotations,captures,global') problems.push(`the top level must hold exactly global, captures and annotations, not ${keys || 'nothing'}`);
  const global = meta.global;
  let sampleBytes = 0;
  if (!isObject(global)) {
    problems.push('global must be an object');
  } else {
    for (const key of ['core:datatype', 'core:version']) if (!(key in global)) problems.push(`global: ${key} is required`);
    checkFields('global', global, GLOBAL, problems);
    const dt = global['core:datatype'];
    if (typeof dt === 'string') {
      sampleBytes = sigmfSampleBytes(dt) * (typeof global['core:num_channels'] === 'number' ? global['core:num_channels'] : 1);
      if (sampleBytes === 0) problems.push(`global: core:datatype ${shown(dt)} does not follow (r|c)(f32|f64|i32|i16|u32|u16)(_le|_be) or (r|c)(i8|u8)`);
    }
    const v = global['core:version'];
    if (typeof v === 'string' && !SEMVER.test(v)) problems.push(`global: core:version ${shown(v)} is not a version like 1.0.0`);
  }
  const lists: [string, Record<string, Kind>][] = [['captures', CAPTURE], ['annotations', ANNOTATION]];
  for (const [name, types] of lists) {
    const list = meta[name];
    if (!Array.isArray(list)) {
      problems.push(`${name} must be an array`);
      continue;
    }
    const objects: Record<string, unknown>[] = [];
    list.forEach((entry: unknown, i) => {
      if (!isObject(entry)) {
        problems.push(`${name}[${i}] must be an object`);
        return;
      }
      objects.push(entry);
      if (!('core:sample_start' in entry)) problems.push(`${name}[${i}]: core:sample_start is required`);
      checkFields(`${name}[${i}]`, entry, types, problems);
      if (name === 'annotations' && ('core:freq_lower_edge' in entry) !== ('core:freq_upper_edge' in entry)) {
        problems.push(`${name}[${i}]: core:freq_lower_edge and core:freq_upper_edge go together`);
      }
      if (name === 'annotations' && dataBytes !== undefined && sampleBytes > 0) {
        const start = entry['core:sample_start'];
        const count = entry['core:sample_count'] ?? 0;
        // Fields of the wrong type were reported above; only numbers are compared with the data.
        const end = typeof start === 'number' && typeof count === 'number' ? start + count : Number.NaN;
        if (end * sampleBytes > dataBytes) problems.push(`${name}[${i}]: ends at sample ${end}, past the data's ${dataBytes / sampleBytes}`);
      }
    });
    checkSorted(name, objects, problems);
  }
  if (dataBytes !== undefined && sampleBytes > 0 && dataBytes % sampleBytes !== 0) {
    problems.push(`the data file's ${dataBytes} bytes are not whole ${sampleBytes}-byte samples`);
  }
  return problems;
}
