"""Statistics of fields: power spectra, histograms and polyspectra (`stats`), the orthonormal
wavelet transform (`wavelets`), scattering spectra (`scattering`), the Gaussian field of a power
spectrum (`gaussian_field`)."""
