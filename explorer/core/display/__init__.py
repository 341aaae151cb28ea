"""How frames become pictures, on screen and in files: colour maps, display ranges and tile
geometry (`render`), shared by the window's views and the exporters (`export`)."""
