/**
 * The model the extension ships and `npm run separate` uses by default, relative to the repository
 * root (and to the built extension's root). models/README.md is its model card: the hierarchical 6-stem
 * model (guitar and piano sliders), which on the four MUSDB18 stems is the 4-stem model bit for bit;
 * `STEMDECK_MODEL=models/stemdeck-umx4.onnx npm run build` ships the lighter 4-stem model instead.
 */
export const SHIPPED_MODEL_PATH = 'models/stemdeck-umx6.onnx';
