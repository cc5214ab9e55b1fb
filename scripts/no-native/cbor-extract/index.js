'use strict';
// cbor-x loads its optional accelerator inside try/catch and falls back to its JavaScript decoder.
throw new Error('cbor-extract: not installed; cbor-x runs in JavaScript (see wampmesh README, Dependencies)');
