[[ routes ]]
