export { bandEdges, bandMatrix } from './bands';
export {
  describeUmx,
  framesToSeconds,
  type InputRepresentation,
  inputFeatures,
  lstmDirectionSuffixes,
  lstmDirections,
  lstmHiddenPerDirection,
  UMX_DEFAULTS,
  type UmxConfig,
  umxConfig,
  validateUmxConfig,
} from './config';
export {
  checkJointWeights,
  checkUmxWeights,
  initUmxWeights,
  isHeadParameter,
  type ParameterInit,
  type ParameterSpec,
  parameterSize,
  type UmxTargetWeights,
  type UmxWeights,
  umxParameters,
} from './parameters';
export { umxReferenceForward, umxReferenceForwardBatch } from './reference';
