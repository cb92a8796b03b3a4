"""Evaluation metrics: plain functions on tensors / arrays, no plotting (see ``figures``).

  denoiser   the study's peak-position accuracy, peak-height variant, accuracy vs SNR, FFT spectra
  coverage   mode coverage and high-quality share on the 2-D Gaussian mixtures
  frechet    Fréchet distance of feature sets, a small feature / class network, class fidelity
  figures    former home of the figures, now genreg.plotting (names kept)
"""
