/** The model `npm run separate` uses when no `--model` is given (see models/README.md). */
export const DEFAULT_MODEL_PATH = 'models/stemdeck-umx4.onnx';
