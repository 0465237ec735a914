"""The application: settings, the one service every channel asks, index building and the documents added while serving."""
