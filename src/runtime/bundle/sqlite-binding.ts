// Stands in for better-sqlite3's lib/binding.js inside the single executable (see README.md).
// Same contract: getBinding(nativeBinding) returns the addon. An explicit object (the
// `nativeBinding` option) wins; otherwise the addon extracted from the executable.

import { sqliteNativeBinding } from '../native.ts';

export function getBinding(nativeBinding?: unknown): object {
  if (typeof nativeBinding === 'object' && nativeBinding !== null) return nativeBinding;
  if (typeof nativeBinding === 'string') {
    const module = { exports: {} as object };
    process.dlopen(module, nativeBinding);
    return module.exports;
  }
  const binding = sqliteNativeBinding();
  if (!binding) throw new Error('better-sqlite3: no native addon in this executable');
  return binding;
}

export function getPrebuildPath(): null {
  return null;
}
