"""Long-term memory behind LangGraph's BaseStore: nodes never know the backend."""
