// Stands in for '@btc-vision/uwebsockets.js' inside the single executable (see README.md).
// A lazy view: nothing is loaded until the first property is read (uWS.App() when a WebSocket
// listener opens), so importing the WebSocket transport costs nothing on a RawSocket-only
// setup and cannot fail on a system whose glibc is too old for uWS.

import type * as UWS from '@btc-vision/uwebsockets.js';
import { loadUws } from '../native.ts';

const lazy = new Proxy({} as typeof UWS, {
  get: (_target, key) => Reflect.get(loadUws(), key),
  has: (_target, key) => Reflect.has(loadUws(), key),
  ownKeys: () => Reflect.ownKeys(loadUws()),
  getOwnPropertyDescriptor: (_target, key) => {
    const d = Reflect.getOwnPropertyDescriptor(loadUws(), key);
    return d && { ...d, configurable: true };
  },
});

export default lazy;
