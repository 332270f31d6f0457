"""The ``convnet`` command line: ``convnet train | eval | predict | summary | filter``.

Entry point ``convnet = convnet.cli.main:main``; ``python -m convnet`` does the same.
"""
