"""The students' browser dashboard (Solara, Mesa's SolaraViz controller, plotly)."""
