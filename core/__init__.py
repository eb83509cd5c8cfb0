"""The Paidy operations dashboard's core: everything but the screens (never imports streamlit)."""
