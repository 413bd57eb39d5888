'use strict';
// Greengrass V1 on-demand Node.js function: says whether the payload is a number.
const isNumber = require('is-number');

exports.handler = async (event) => {
  const value = event && event.value;
  return { value, isNumber: isNumber(value) };
};
