// The twelve steps of the guided lesson, in the order of 3Blue1Brown's videos, each in our own
// words: a title, a few sentences (parts: strings, or {strong, testid} for a number the tests
// read), the elements of the page it shows (`target`: its subject and its controls, all kept
// in view beside the card), and what it sets up on the live page (`mode`, `neuron`, `open`).
// `m` is the network now shown: {sizes, activation, cost} (any may be missing while loading).

import { count } from "./fmt.js";
import { parameterCount } from "./vocab.js";

function hiddenText(sizes) {
  const hidden = sizes.slice(1, -1);
  if (!hidden.length) return "no hidden layer";
  const same = hidden.every((n) => n === hidden[0]);
  if (same) return `${hidden.length === 1 ? "one hidden layer" : `${hidden.length} hidden layers`} of ${hidden[0]}`;
  return `hidden layers of ${hidden.join(", ")}`;
}

function squash(m) {
  if (!m.activation || m.activation === "sigmoid") return "";
  const f = m.activation === "relu" ? "ReLU, max(0, z), which keeps positive z and turns the rest into 0" : "tanh, which squeezes z into −1…1";
  return ` (This model uses ${f} instead of the sigmoid.)`;
}

function costText(m) {
  if (m.cost !== "cross_entropy") return "";
  return " (This model's training cost is cross-entropy instead: −log of the probability it gives the right digit.)";
}

function parameterParts(m) {
  const s = m.sizes;
  if (!s || s.length < 2) return ["Put together, the whole network is one function. (Loading its sizes…)"];
  const terms = [];
  for (let l = 1; l < s.length; l++) terms.push(`${s[l - 1]}×${s[l]} + ${s[l]}`);
  return [
    `Put together, the whole network is one function: ${s[0]} numbers in, ${s[s.length - 1]} numbers out. `,
    `Its knobs are all its weights and biases; for this network (${s.join("-")}) that is ${terms.join(" + ")} = `,
    { strong: count(parameterCount(s)), testid: "lesson-params" },
    " parameters. Learning means finding values for all of them that make the outputs right.",
  ];
}

export const STEPS = [
  {
    title: "A neuron holds a number",
    target: [".draw-row"],
    drawing: true,
    text: (m) => {
      const n = m.sizes ? count(m.sizes[0]) : "hundreds";
      return [
        "Here a neuron is simply a thing that holds one number, its activation. ",
        `The network's first layer has ${n} of them, one per pixel of the image it sees: `,
        `0 where the pixel is black, 1 where it is fully lit. Your drawing sets those ${n} numbers.`,
      ];
    },
  },
  {
    title: "Layers",
    target: ["#network-canvas"],
    drawing: true,
    mode: "activations",
    text: (m) => [
      "The neurons are arranged in layers: the pixels on the left, ",
      m.sizes ? `then ${hiddenText(m.sizes)}, ` : "then the hidden layers, ",
      "then ten outputs, one per digit. Each layer's numbers are computed from the layer before, ",
      "so a drawing lights the network up from left to right, and the brightest output is its answer.",
    ],
  },
  {
    title: "Weights and the weighted sum",
    target: ["#network-canvas"],
    drawing: true,
    mode: "activations",
    neuron: true,
    text: () => [
      "Every connection has a weight: how strongly one neuron's number counts for the next neuron, ",
      "and whether it pushes it up (blue) or down (orange). A neuron multiplies each incoming ",
      "activation by its weight and adds the products up: the weighted sum. The ringed neuron's ",
      "incoming connections are lit by their product w·a on your drawing, thicker for more.",
    ],
  },
  {
    title: "The bias and the sigmoid",
    target: ["#neuron-detail"],
    focus: ["#neuron-detail .nd-sum .total", "#neuron-detail .act-fig", "#neuron-detail .bias-note"],
    drawing: true,
    mode: "activations",
    neuron: true,
    text: (m) => [
      "Here is that neuron's sum, its biggest products w·a first. Then it adds its bias, which moves the point where it starts to light up: ",
      "a large negative bias means only a big weighted sum gets through. The result z can be any number, ",
      "so a squashing function, the sigmoid σ, maps it into 0…1; the little plot marks where this z lands.",
      squash(m),
    ],
  },
  {
    title: "Matrix notation",
    target: ["#mx-grid"],
    drawing: true,
    mode: "activations",
    neuron: true,
    text: () => [
      "Doing this for a whole layer at once is one matrix product. Put the weights in a matrix W, ",
      "one row per neuron, and the previous layer's activations in a column a; then σ(W·a + b) is the ",
      "whole next layer. The marked row of this heat map is the neuron from the last two steps.",
    ],
  },
  {
    title: "A function with many parameters",
    target: ["#network-canvas"],
    mode: "activations",
    text: parameterParts,
  },
  {
    title: "The cost",
    target: ["#cost-example"],
    drawing: true,
    text: (m) => [
      "To learn, the network needs a score of how wrong it is. For one drawing, compare the ten ",
      "outputs with what they should be (1 for the right digit, 0 for the others), square the ",
      "differences and add them up: the cost of this example. Tell it which digit this is with ",
      "“This is a”; averaged over many digits, the cost says how bad the network is overall.",
      costText(m),
    ],
  },
  {
    title: "Gradient descent and local minima",
    target: ["#descent .descent-controls", "#descent .descent-view"],
    open: ["#descent details"],
    text: () => [
      "Lowering the cost means walking downhill on it. The slope says which way is down, and each ",
      "step moves against it by the step size times the slope. Drop a ball on the curve and press Run: ",
      "it settles in the valley below where it started, a local minimum, not always the lowest. ",
      "Make the step size big and it overshoots.",
    ],
  },
  {
    title: "What is each neuron looking for?",
    target: ["#weights-view"],
    open: ["#weights-view"],
    text: () => [
      "The hope was that the first hidden layer would learn little edges and loops. Here are the ",
      "weights each of its neurons gives the input pixels, drawn as 28×28 images: blue pixels push ",
      "the neuron up, orange ones down. After training they look less like neat strokes than like ",
      "loose, noisy patterns: the network found its own way to tell the digits apart. Click a tile ",
      "for that neuron's arithmetic.",
    ],
  },
  {
    title: "What it dreams of",
    target: ["#dreams"],
    text: () => [
      "Turn the question around: which image makes output 3 shine brightest? Starting from a blank ",
      "image and walking uphill on the pixels finds these. They are smudges, not digits: the ",
      "network can be sure about images no person would call a 3, because it only weighs pixels. ",
      "It is good at the digits it was trained on, not at knowing what a digit is.",
    ],
  },
  {
    title: "The nudges",
    target: ["#nudge-legend", "#network-canvas"],
    drawing: true,
    mode: "nudges",
    text: (m) => [
      `For the real network, downhill is a direction in ${m.sizes ? count(parameterCount(m.sizes)) : "thousands of"} `,
      "dimensions, one per parameter. For this one drawing, each ",
      "output wants to go up or down; those wishes flow back through the layers to every weight and ",
      "bias, drawn here in colour (the negative gradient). “Take one step” under the cost applies ",
      "them to a copy of the model; real training averages the wishes of many examples.",
    ],
  },
  {
    title: "Train it yourself",
    target: ["#train-form", ".run-buttons"],
    text: () => [
      "Training repeats those steps over thousands of digits, a small batch at a time, and the ",
      "cost falls. Choose the layers, the learning rate and the epochs, press Start and watch the ",
      "curve; then save the result as a model and draw on it.",
    ],
  },
];
