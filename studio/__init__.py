"""The Streamlit studio: drive, inspect, review and iterate on prompts. Page logic lives in
``chimera.studio.logic`` (plain async functions over the app); pages stay thin."""
