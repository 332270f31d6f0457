"""A PyTorch copy of a convnet TextCNN (same embedding, convolution and linear weights) for oracle tests."""
import torch


def torch_twin(m):
    """``(embedding, [conv1d per width], linear)`` in torch, holding ``m``'s weights."""
    emb = torch.nn.Embedding(m.embedding.weight.shape[0], m.embedding.weight.shape[1], padding_idx=0)
    convs = [torch.nn.Conv1d(c.weight.shape[1], c.weight.shape[0], c.weight.shape[2]) for c in m.convs]
    fc = torch.nn.Linear(m.fc.weight.shape[1], m.fc.weight.shape[0])
    with torch.no_grad():
        emb.weight.copy_(torch.from_numpy(m.embedding.weight.detach().numpy()))
        for c, ours in zip(convs, m.convs):
            c.weight.copy_(torch.from_numpy(ours.weight.detach().numpy()))
            c.bias.copy_(torch.from_numpy(ours.bias.detach().numpy()))
        fc.weight.copy_(torch.from_numpy(m.fc.weight.detach().numpy()))
        fc.bias.copy_(torch.from_numpy(m.fc.bias.detach().numpy()))
    return emb, convs, fc
