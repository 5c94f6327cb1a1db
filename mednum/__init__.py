"""mednum — plateforme du réseau national de la médiation numérique."""
