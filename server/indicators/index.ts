/** The OPAL indicator layer (issue #6): catalog, computation, comparisons, scaling, disclosure. */
export * from './catalog.js';
export * from './compare.js';
export * from './compute.js';
export * from './disclosure.js';
export * from './scale.js';
export * from './cache.js';
export * from './series.js';
export * from './publication.js';
