/** The model `npm run separate` uses when no `--model` is given: the one the extension ships. */
export { SHIPPED_MODEL_PATH as DEFAULT_MODEL_PATH } from '../../src/core/shipped-model';
