/** Injection token of the loaded StraitConfig (config/strait-config.ts). */
export const STRAIT_CONFIG = Symbol('STRAIT_CONFIG');
