'use strict';
// msgpackr loads its optional accelerator inside try/catch and falls back to its JavaScript decoder.
throw new Error('msgpackr-extract: not installed; msgpackr runs in JavaScript (see wampmesh README, Dependencies)');
