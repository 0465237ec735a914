"""Passage retrieval: embedders, the persisted FAISS store and the dense retriever."""
