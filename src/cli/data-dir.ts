// Which data folder an admin command works on when no --data is given. A developer runs the
// CLI next to ./data; on an installed appliance the folder is wherever the service's config
// puts it, and the operator should not have to know or type it.

import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config/config.ts';
import { DATABASE_FILE } from '../store/database.ts';
import { StartError } from './errors.ts';

/** The service's config file as installed by the package; WAMPMESH_CONFIG replaces it. */
export const SERVICE_CONFIG = '/etc/wampmesh/config.json';
/** The service's data folder (systemd StateDirectory); WAMPMESH_DATA_DIR replaces it. */
export const SERVICE_DATA_DIR = '/var/lib/wampmesh';

export interface DataDirSources {
  /** --config FILE on the admin command: asked for, so it wins over ./data and must be readable. */
  readonly configFile?: string;
  readonly env: NodeJS.ProcessEnv;
}

const holdsDatabase = (dir: string): boolean => fs.existsSync(path.join(dir, DATABASE_FILE));

/**
 * With --config, that file's dataDir. Otherwise ./data if it holds a database; else the dataDir of the service's config file, if that file
 * exists (the config is authoritative: its folder is used even without a database, so --init
 * creates it there and a missing one is named by the store); else the service's data folder if
 * it holds a database. Nothing is created here; none found is one line naming what was tried.
 */
export function findDataDir(sources: DataDirSources): string {
  if (sources.configFile !== undefined) return loadConfig(sources.configFile).dataDir;
  if (holdsDatabase('./data')) return './data';
  const configFile = nonEmpty(sources.env.WAMPMESH_CONFIG) ?? SERVICE_CONFIG;
  if (fs.existsSync(configFile)) return loadConfig(configFile).dataDir;
  const serviceData = nonEmpty(sources.env.WAMPMESH_DATA_DIR) ?? SERVICE_DATA_DIR;
  if (holdsDatabase(serviceData)) return serviceData;
  throw new StartError(
    `no data folder found (tried ./data, the config file ${configFile}, ${serviceData}): ` +
      'give --data DIR (add --init to create a database there)',
  );
}

const nonEmpty = (s: string | undefined): string | undefined => (s === undefined || s === '' ? undefined : s);
