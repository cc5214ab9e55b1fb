// TLS of the client listeners: files checked at start (a bad file names its config field and
// the router does not start), fingerprints for the listening line, the console and the CLI, and
// the SIGHUP reload, which keeps the old certificate when the new files are not usable.

import type { Logger } from '../log.ts';
import {
  loadTls,
  TlsFileError,
  type ClientCertificateMode,
  type LoadedTls,
  type TlsFiles,
} from '../transport/tls-files.ts';
import { StartError } from './errors.ts';

/** What the listening line, the console and `wampmesh tls` show of a listener's certificate. */
export interface TlsSummary {
  readonly fingerprint: string;
  readonly subject: string;
  readonly validTo: string;
  /** Whether clients must show a certificate (a listener given tls.clientCa). */
  readonly clientCertificate?: ClientCertificateMode;
}

export function summary(loaded: LoadedTls): TlsSummary {
  const { fingerprint, subject, validTo, clients } = loaded;
  return { fingerprint, subject, validTo, ...(clients !== undefined && { clientCertificate: clients.mode }) };
}

/** Loads a listener's files; `field` is the listener's path in the config, e.g. "listeners.websocket[0]". */
export function loadListenerTls(field: string, files: TlsFiles): LoadedTls {
  try {
    return loadTls(files);
  } catch (e) {
    if (e instanceof TlsFileError) throw new StartError(`${field}.${e.field}: ${e.message}`);
    throw e;
  }
}

interface Entry {
  readonly field: string;
  readonly files: TlsFiles;
  current: TlsSummary;
  readonly apply: (loaded: LoadedTls) => void | Promise<void>;
}

export interface ReloadResult {
  readonly field: string;
  readonly fingerprint?: string;
  readonly error?: string;
}

/** The TLS listeners of one router, for SIGHUP. */
export class TlsListeners {
  readonly #entries: Entry[] = [];

  add(field: string, loaded: LoadedTls, apply: Entry['apply']): void {
    this.#entries.push({ field, files: loaded.files, current: summary(loaded), apply });
  }

  /** Field -> certificate in use, for the admin API and console. */
  list(): { field: string; tls: TlsSummary }[] {
    return this.#entries.map((e) => ({ field: e.field, tls: e.current }));
  }

  /** Reads every listener's files again; one that fails keeps serving its old certificate. */
  async reload(log: Logger): Promise<ReloadResult[]> {
    const results: ReloadResult[] = [];
    for (const e of this.#entries) {
      try {
        const loaded = loadListenerTls(e.field, e.files);
        await e.apply(loaded);
        const changed = loaded.fingerprint !== e.current.fingerprint;
        e.current = summary(loaded);
        log.info({ listener: e.field, fingerprint: loaded.fingerprint, changed }, 'TLS certificate reloaded');
        results.push({ field: e.field, fingerprint: loaded.fingerprint });
      } catch (error) {
        const message = (error as Error).message;
        log.error({ listener: e.field, err: message }, 'TLS reload failed; the previous certificate stays in use');
        results.push({ field: e.field, error: message });
      }
    }
    return results;
  }
}
