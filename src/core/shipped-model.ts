/**
 * The model the extension ships and `npm run separate` uses by default, relative to the repository
 * root (and to the built extension's root). models/README.md is its model card.
 */
export const SHIPPED_MODEL_PATH = 'models/stemdeck-umx4.onnx';
