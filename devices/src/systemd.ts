/**
 * systemd units for a board, rendered from the templates in devices/systemd/ (`akb-edge.service.in`,
 * `akb-agent.service.in`) with the profile's install paths: `@ROOT@`, `@SLOT_A@`, `@SLOT_B@`, `@DATA@`
 * (install.data, else `<root>/data`), `@PROFILE_ID@` and `@PROFILE_NAME@`. `akb package` puts the result in
 * a bundle's `systemd/`. A placeholder left over after rendering is a bug in a template and is refused.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AkbError, type DeviceProfile } from '@akb/protocol';
import { packageRoot } from './catalogue.js';

export const SYSTEMD_UNITS = ['akb-edge', 'akb-agent'] as const;
export type SystemdUnitName = (typeof SYSTEMD_UNITS)[number];

/** Folder of the unit templates (devices/systemd/). */
export function systemdTemplateDir(root: string = packageRoot): string {
  return join(root, 'systemd');
}

/** The values a template's placeholders take for `profile`. */
export function systemdValues(profile: DeviceProfile): Record<string, string> {
  const { root, slots, data } = profile.install;
  // Paths and names go into unit lines and a `sh -c '…'` string: anything that could break out is refused.
  for (const [what, value] of [['install.root', root], ['install.slots.A', slots.A], ['install.slots.B', slots.B], ['install.data', data ?? root]] as const) {
    if (!/^\/[A-Za-z0-9._/-]*$/.test(value)) {
      throw new AkbError('BAD_PROFILE', `${profile.id}: ${what} ${JSON.stringify(value)} has characters a systemd unit cannot carry unquoted`, {
        hint: 'use letters, digits, ".", "_", "-" and "/" in install paths',
      });
    }
  }
  return {
    ROOT: root,
    SLOT_A: slots.A,
    SLOT_B: slots.B,
    DATA: data ?? `${root}/data`,
    PROFILE_ID: profile.id,
    PROFILE_NAME: profile.name.replace(/[\r\n%$\\'"`]/g, ' '),
  };
}

/** Replaces every `@NAME@` of `template`; an unknown or leftover placeholder is refused. */
export function renderSystemdTemplate(template: string, values: Readonly<Record<string, string>>): string {
  const out = template.replace(/@([A-Z_]+)@/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new AkbError('BAD_TEMPLATE', `systemd template: unknown placeholder ${whole}`, { hint: `known: ${Object.keys(values).join(', ')}` });
    return value;
  });
  return out;
}

/** The unit `name` (akb-edge or akb-agent) rendered for `profile`, read from `templateDir`. */
export async function renderSystemdUnit(profile: DeviceProfile, name: SystemdUnitName, templateDir: string = systemdTemplateDir()): Promise<string> {
  const path = join(templateDir, `${name}.service.in`);
  let template: string;
  try {
    template = await readFile(path, 'utf8');
  } catch (e) {
    throw new AkbError('TEMPLATE_MISSING', `cannot read the systemd template ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, {
      hint: 'reinstall @akb/devices: its systemd/ folder holds the templates',
      cause: e,
    });
  }
  return renderSystemdTemplate(template, systemdValues(profile));
}
