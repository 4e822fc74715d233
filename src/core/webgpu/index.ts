export {
  createWebGpuModel,
  engineFeatures,
  type WebGpuMagnitudeModel,
  type WebGpuModelOptions,
} from './engine';
export { createWebGpuEnsemble } from './ensemble';
export { umxMembersFromOnnx, umxWeightsFromOnnx } from './onnx-weights';
