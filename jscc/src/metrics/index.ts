/** Reconstruction quality of images in [0, 1]: MSE, PSNR and SSIM with the conventions of the reference models' evaluation. */
export { mse, psnr } from './psnr.js';
export { ssim } from './ssim.js';
export {
  capacityBits,
  digitalBaseline,
  jpegTable,
  pickQuality,
  DIGITAL_QUALITIES,
  JPEG_OVERHEAD_BYTES,
  type DigitalChannel,
  type DigitalCount,
  type DigitalOptions,
  type DigitalRowResult,
  type JpegTable,
} from './digital.js';
