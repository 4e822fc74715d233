export {
  createWebGpuModel,
  engineFeatures,
  type WebGpuMagnitudeModel,
  type WebGpuModelOptions,
} from './engine';
export { umxWeightsFromOnnx } from './onnx-weights';
